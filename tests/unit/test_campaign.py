"""The campaign model: folder checks, campaign.json validation, accounts, captions and matching."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from postpilot.campaign import (
    CampaignConfig,
    compute_sha256,
    list_videos,
    load_captions,
    read_accounts_file,
    scan_campaigns,
)
from postpilot.config import Config, PostingContext
from postpilot.errors import CampaignNotFound, ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "campaigns"


def make_campaign(
    root: Path,
    name: str = "x",
    *,
    accounts: str = "a1\na2\n",
    captions: str | bytes = "filename,post_caption\nv1.mp4,one\n",
    videos: tuple[str, ...] = ("v1.mp4",),
    config: object | None = None,
) -> Path:
    """A campaign folder under <root>/campaigns/<name>; each video has distinct bytes."""
    folder = root / "campaigns" / name
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text(accounts, encoding="utf-8")
    if isinstance(captions, bytes):
        (folder / "captions.csv").write_bytes(captions)
    else:
        (folder / "captions.csv").write_text(captions, encoding="utf-8", newline="")
    for rel in videos:
        path = folder / "videos" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"video {rel}".encode())
    if config is not None:
        text = config if isinstance(config, str) else json.dumps(config)
        (folder / "campaign.json").write_text(text, encoding="utf-8")
    return folder


def config_error(folder: Path, root: Path) -> str:
    """The message of the ConfigError from_folder raises for the folder."""
    with pytest.raises(ConfigError) as info:
        CampaignConfig.from_folder(folder, root)
    return str(info.value)


# -- accounts.txt -----------------------------------------------------------------------------
def test_accounts_file_ignores_blanks_and_comments_and_reports_duplicates(tmp_path: Path) -> None:
    """Blank lines and # lines are skipped, names stripped, duplicates kept once and reported."""
    path = tmp_path / "accounts.txt"
    path.write_text("# team\n alice \n\nBob\nalice\n  # indented comment\nbob\nBob\n", "utf-8")
    result = read_accounts_file(path)
    assert result.accounts == ["alice", "Bob", "bob"]
    assert result.duplicates == ["alice", "Bob"]


def test_accounts_file_with_bom_and_crlf_reads_clean_names(tmp_path: Path) -> None:
    """A UTF-8 BOM and Windows line endings do not leak into the account names."""
    path = tmp_path / "accounts.txt"
    path.write_bytes("\ufeffalice\r\nbob\r\n".encode())
    assert read_accounts_file(path).accounts == ["alice", "bob"]


def test_missing_accounts_file_names_the_path_and_how_to_create_it(tmp_path: Path) -> None:
    """read_accounts_file on a missing file raises ConfigError with the path and the fix."""
    path = tmp_path / "nope.txt"
    with pytest.raises(ConfigError, match="one account name per line") as info:
        read_accounts_file(path)
    assert str(path) in str(info.value)


def test_empty_accounts_file_gives_no_accounts_and_the_context_refuses(project_root: Path) -> None:
    """An accounts file with only comments loads, but PostingContext.get_accounts names it."""
    folder = make_campaign(project_root, accounts="# nobody yet\n\n")
    campaign = CampaignConfig.from_folder(folder, project_root)
    assert campaign.get_accounts() == []
    with pytest.raises(ConfigError, match=r"No accounts found in .*accounts\.txt"):
        PostingContext.from_campaign(campaign).get_accounts()


# -- missing files (the seed's "Missing Campaign Files" table) -------------------------------
def test_missing_campaign_folder_is_campaign_not_found(project_root: Path) -> None:
    """A folder that does not exist raises CampaignNotFound (a ConfigError) naming it."""
    with pytest.raises(CampaignNotFound, match="Campaign folder not found"):
        CampaignConfig.from_folder(project_root / "campaigns" / "ghost", project_root)


def test_missing_accounts_txt_uses_the_seed_message(project_root: Path) -> None:
    """Missing accounts.txt: what is missing, the expected path, how to create it."""
    folder = make_campaign(project_root, "viral")
    (folder / "accounts.txt").unlink()
    assert config_error(folder, project_root) == (
        f"Campaign 'viral' missing accounts.txt\n"
        f"  Expected: {folder / 'accounts.txt'}\n"
        f"  Create this file with one account name per line"
    )


def test_missing_captions_csv_uses_the_seed_message(project_root: Path) -> None:
    """Missing captions.csv: same shape, with the columns to write."""
    folder = make_campaign(project_root, "viral")
    (folder / "captions.csv").unlink()
    assert config_error(folder, project_root) == (
        f"Campaign 'viral' missing captions.csv\n"
        f"  Expected: {folder / 'captions.csv'}\n"
        f"  Create this file with filename,post_caption columns"
    )


def test_missing_videos_folder_uses_the_seed_message_shape(project_root: Path) -> None:
    """Missing videos/: same shape, naming the expected folder."""
    folder = make_campaign(project_root, "viral", videos=())
    (folder / "videos").rmdir()
    message = config_error(folder, project_root)
    assert message.startswith("Campaign 'viral' missing videos folder\n")
    assert f"  Expected: {folder / 'videos'}\n" in message
    assert "Create this folder" in message


def test_no_campaign_json_means_defaults(project_root: Path) -> None:
    """Without campaign.json: folder name, limit 1, UTC, 3 attempts, outbox, no DSN, fixed paths."""
    folder = make_campaign(project_root, "plain")
    c = CampaignConfig.from_folder(folder, project_root)
    assert (c.name, c.enabled, c.max_posts_per_account_per_day) == ("plain", True, 1)
    assert (c.timezone, c.max_attempts, c.store) == ("UTC", 3, None)
    assert dict(c.publisher) == {"type": "outbox"}
    assert c.progress_file == str(folder / Config.CAMPAIGN_PROGRESS_FILE)
    assert c.state_file == str(folder / "scheduler_state.json")
    assert c.project_root == str(project_root)


def test_stray_csv_files_and_other_folders_are_never_picked_by_listing_order(
    project_root: Path,
) -> None:
    """captions.csv and videos/ are chosen by name, not as the first .csv or folder (C6/D5)."""
    folder = make_campaign(project_root, "c6")
    (folder / "aaa_tmp1234.csv").write_text("filename,post_caption\nzzz.mp4,wrong\n", "utf-8")
    (folder / "progress_20251216.csv").write_text("job_id,account\n", "utf-8")
    (folder / "aaa").mkdir()
    (folder / "aaa" / "other.mp4").write_bytes(b"other")
    c = CampaignConfig.from_folder(folder, project_root)
    assert c.captions_file == str(folder / "captions.csv")
    assert c.videos_dir == str(folder / "videos")
    assert [m.filename for m in c.match_videos().matched] == ["v1.mp4"]


# -- campaign.json ----------------------------------------------------------------------------
def test_campaign_json_settings_are_applied(project_root: Path) -> None:
    """Every campaign.json key reaches the CampaignConfig, the publisher block kept as given."""
    folder = make_campaign(
        project_root,
        "folder",
        captions="file,text\nv1,hello\n",
        config={
            "name": "renamed",
            "enabled": False,
            "max_posts_per_account_per_day": 2,
            "timezone": "America/New_York",
            "max_attempts": 5,
            "captions": {"file": "my.csv", "filename_column": "file", "caption_column": "text"},
            "videos_dir": "clips",
            "publisher": {"type": "webhook", "url": "http://127.0.0.1:9/x", "secret_env": "S"},
            "store": "postgresql://postgres@127.0.0.1/test",
        },
    )
    (folder / "captions.csv").rename(folder / "my.csv")
    (folder / "videos").rename(folder / "clips")
    c = CampaignConfig.from_folder(folder, project_root)
    assert (c.name, c.enabled, c.max_posts_per_account_per_day) == ("renamed", False, 2)
    assert (c.timezone, c.max_attempts) == ("America/New_York", 5)
    assert c.captions_file == str(folder / "my.csv")
    assert c.videos_dir == str(folder / "clips")
    assert (c.filename_column, c.caption_column) == ("file", "text")
    assert dict(c.publisher) == {
        "type": "webhook",
        "url": "http://127.0.0.1:9/x",
        "secret_env": "S",
    }
    assert c.store == "postgresql://postgres@127.0.0.1/test"
    assert [(m.filename, m.caption) for m in c.match_videos().matched] == [("v1.mp4", "hello")]


def test_wrong_type_names_the_file_the_key_and_the_expected_type(project_root: Path) -> None:
    """A string where an integer belongs: one line naming file, key, expected type and value."""
    folder = make_campaign(project_root, "x", config={"max_posts_per_account_per_day": "2"})
    assert config_error(folder, project_root) == (
        "campaigns/x/campaign.json: key 'max_posts_per_account_per_day' must be an integer "
        '(got "2")'
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"enabled": "yes"}, "key 'enabled' must be true or false (got \"yes\")"),
        ({"max_attempts": True}, "key 'max_attempts' must be an integer (got true)"),
        ({"max_attempts": 0}, "key 'max_attempts' must be an integer >= 1 (got 0)"),
        ({"max_posts_per_account_per_day": 1.5}, "key 'max_posts_per_account_per_day' must be"),
        ({"timezone": "Mars/Olympus"}, "key 'timezone' must be an IANA time zone name"),
        ({"name": 7}, "key 'name' must be a string (got 7)"),
        ({"captions": {"file": 3}}, "key 'captions.file' must be a string (got 3)"),
        ({"captions": "captions.csv"}, "key 'captions' must be an object"),
        ({"publisher": {"type": "selenium"}}, "key 'publisher.type' must be one of outbox"),
        ({"publisher": []}, "key 'publisher' must be an object"),
        ({"videos_dir": ""}, "key 'videos_dir' must not be empty"),
    ],
)
def test_invalid_values_name_the_key_and_the_expected_type(
    project_root: Path, config: dict[str, object], expected: str
) -> None:
    """Each wrong value is reported with its dotted key and what it must be, no pydantic text."""
    folder = make_campaign(project_root, "x", config=config)
    message = config_error(folder, project_root)
    assert message.startswith("campaigns/x/campaign.json: ")
    assert expected in message
    assert "pydantic" not in message
    assert "validation error" not in message.lower()


def test_unknown_keys_are_errors_naming_the_key_and_the_allowed_ones(project_root: Path) -> None:
    """A misspelt key, top-level or nested, is named with the keys that are allowed."""
    folder = make_campaign(project_root, "x", config={"max_post_per_day": 2})
    message = config_error(folder, project_root)
    assert "unknown key 'max_post_per_day'" in message
    assert "max_posts_per_account_per_day" in message
    folder = make_campaign(project_root, "y", config={"captions": {"colum": "x"}})
    message = config_error(folder, project_root)
    assert "campaigns/y/campaign.json: unknown key 'captions.colum'" in message
    assert "filename_column" in message


def test_invalid_json_names_the_file_and_position(project_root: Path) -> None:
    """Broken JSON is a ConfigError with the file, line and column; no traceback text."""
    folder = make_campaign(project_root, "x", config='{"enabled": true,\n  oops}')
    message = config_error(folder, project_root)
    assert message.startswith("campaigns/x/campaign.json: invalid JSON at line 2 column 3")


def test_campaign_json_must_be_an_object(project_root: Path) -> None:
    """A JSON list at the top level is refused with the file named."""
    folder = make_campaign(project_root, "x", config="[1, 2]")
    assert "campaigns/x/campaign.json: must be a JSON object" in config_error(folder, project_root)


def test_store_must_be_a_postgres_dsn_and_is_never_echoed(project_root: Path) -> None:
    """A non-PostgreSQL store value is refused without printing it (it may hold a password)."""
    folder = make_campaign(project_root, "x", config={"store": "mysql://u:hunter2@db/x"})
    message = config_error(folder, project_root)
    assert "key 'store' must be a PostgreSQL DSN" in message
    assert "hunter2" not in message


def test_custom_publisher_type_is_accepted(project_root: Path) -> None:
    """The custom channel type (in-house publishers, test fakes) passes validation."""
    block = {"type": "custom", "class": "pkg.mod:Cls", "journal": "j.log"}
    folder = make_campaign(project_root, "x", config={"publisher": block})
    assert dict(CampaignConfig.from_folder(folder, project_root).publisher) == block


# -- captions -----------------------------------------------------------------------------------
def test_header_detection_accepts_post_caption_or_caption_in_any_case(tmp_path: Path) -> None:
    """filename+post_caption wins over filename+caption; header case does not matter."""
    path = tmp_path / "c.csv"
    path.write_text("FileName,Caption,Post_Caption\nv.mp4,short,long\n", "utf-8")
    captions = load_captions(path)
    assert (captions.filename_column, captions.caption_column) == ("FileName", "Post_Caption")
    assert captions.rows[0].caption == "long"
    path.write_text("extra,filename,caption\nx,v.mp4,podcast style\n", "utf-8")
    captions = load_captions(path)
    assert captions.caption_column == "caption"
    assert captions.columns == ["extra", "filename", "caption"]
    assert captions.rows[0].caption == "podcast style"


def test_header_without_known_columns_names_the_file_and_columns(project_root: Path) -> None:
    """A header with neither layout is refused at load time, listing the columns found."""
    folder = make_campaign(project_root, "x", captions="Text,Image/Video link 1 (shortcode)\na,b\n")
    message = config_error(folder, project_root)
    assert str(folder / "captions.csv") in message
    assert "columns found: Text, Image/Video link 1 (shortcode)" in message


def test_configured_columns_missing_from_the_header_are_named(project_root: Path) -> None:
    """campaign.json columns that the header lacks are reported with the columns found."""
    folder = make_campaign(
        project_root, "x", config={"captions": {"caption_column": "onscreen_text"}}
    )
    message = config_error(folder, project_root)
    assert "column 'onscreen_text'" in message
    assert "columns found: filename, post_caption" in message


def test_multiline_emoji_and_quotes_are_kept_byte_for_byte(tmp_path: Path) -> None:
    """Quoted multi-line captions (CRLF inside included), emoji, commas and quotes survive."""
    caption = 'Line one, with a comma 🎬\r\n"quoted" line two\n\nhashtags #a #b 👩‍👩‍👧'
    escaped = caption.replace('"', '""')
    raw = f'\ufefffilename,post_caption\r\nv.mp4,"{escaped}"\r\nw.mp4,plain\r\n'
    path = tmp_path / "c.csv"
    path.write_bytes(raw.encode("utf-8"))
    captions = load_captions(path)
    assert captions.filename_column == "filename"  # the BOM did not stick to the header
    assert [(r.filename, r.caption) for r in captions.rows] == [
        ("v.mp4", caption),
        ("w.mp4", "plain"),
    ]
    assert captions.rows[1].line == 6


def test_only_surrounding_whitespace_is_stripped(tmp_path: Path) -> None:
    """Identifiers and captions lose outer whitespace only; inner spacing stays."""
    path = tmp_path / "c.csv"
    path.write_text('filename,caption\n  v.mp4 ,"  two  spaces \n  indented  "\n', "utf-8")
    row = load_captions(path).rows[0]
    assert (row.filename, row.caption) == ("v.mp4", "two  spaces \n  indented")


def test_empty_captions_duplicates_and_empty_filenames_are_reported(tmp_path: Path) -> None:
    """Nothing is dropped silently: empty captions, repeated names (first wins), empty names."""
    path = tmp_path / "c.csv"
    path.write_text(
        "filename,post_caption\na.mp4,first\nb.mp4,\na.mp4,second\n,orphan caption\n\nc.mp4, \n",
        "utf-8",
    )
    captions = load_captions(path)
    assert [(r.filename, r.caption) for r in captions.rows] == [("a.mp4", "first")]
    assert captions.duplicates == ["a.mp4"]
    assert captions.empty_captions == [(3, "b.mp4"), (7, "c.mp4")]
    assert captions.empty_filenames == [5]


def test_non_utf8_captions_are_a_config_error(tmp_path: Path) -> None:
    """A Latin-1 file is refused naming the file instead of mangling captions."""
    path = tmp_path / "c.csv"
    path.write_bytes("filename,post_caption\nv.mp4,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_captions(path)


# -- videos and matching ------------------------------------------------------------------------
def test_videos_any_case_nested_sorted_and_other_files_ignored(tmp_path: Path) -> None:
    """.mp4/.mov in any case are found in nested folders, in relative-path order."""
    root = tmp_path / "videos"
    for rel in ("b/z.MOV", "a/y.mp4", "c.Mp4", "a/notes.txt", "a/.hidden.mp4", "b/x.mkv"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    found = [p.relative_to(root).as_posix() for p in list_videos(root)]
    assert found == ["a/y.mp4", "b/z.MOV", "c.Mp4"]


def test_match_exact_name_first_then_stem_and_counts_leftovers(project_root: Path) -> None:
    """Exact file name beats the stem; unmatched videos and captions are both counted."""
    folder = make_campaign(
        project_root,
        captions=(
            "filename,post_caption\nabc,by stem\nabc.mp4,by name\ndef,def stem\n"
            "nested/deep.mov,by path\nghost.mp4,no video\n"
        ),
        videos=("abc.mp4", "def.MOV", "nested/deep.mov", "lonely.mp4"),
    )
    report = CampaignConfig.from_folder(folder, project_root).match_videos()
    assert [(m.relative_path, m.caption) for m in report.matched] == [
        ("abc.mp4", "by name"),
        ("def.MOV", "def stem"),
        ("nested/deep.mov", "by path"),
    ]
    assert report.videos_without_captions == ["lonely.mp4"]
    assert report.captions_without_videos == ["abc", "ghost.mp4"]
    assert report.counts()["matched"] == 3
    assert "2 captions without videos" in report.problems()


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd.mp4",
        "C:\\Users\\x\\v.mp4",
        "\\\\server\\share\\v.mp4",
        "../v1.mp4",
        "a/../../v1.mp4",
    ],
)
def test_filenames_that_escape_the_videos_folder_are_rejected(
    project_root: Path, name: str
) -> None:
    """Absolute names and .. that climb out of videos/ are rejected and reported, never used."""
    folder = make_campaign(project_root, captions=f'filename,post_caption\n"{name}",bad\n')
    (folder / "v1.mp4").write_bytes(b"outside")
    report = CampaignConfig.from_folder(folder, project_root).match_videos()
    assert report.matched == []
    assert [n for n, _ in report.rejected_filenames] == [name]
    assert report.captions_without_videos == []


def test_symlinks_out_of_the_videos_folder_are_rejected(project_root: Path, tmp_path: Path) -> None:
    """A video symlink or a linked folder pointing outside videos/ is rejected, not matched."""
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.mp4").write_bytes(b"secret")
    (outside / "deep" / "d.mp4").write_bytes(b"deep")
    folder = make_campaign(
        project_root,
        captions="filename,post_caption\nsecret.mp4,one\nlinked/d.mp4,two\nv1.mp4,fine\n",
    )
    os.symlink(outside / "secret.mp4", folder / "videos" / "secret.mp4")
    os.symlink(outside / "deep", folder / "videos" / "linked")
    report = CampaignConfig.from_folder(folder, project_root).match_videos()
    assert [m.filename for m in report.matched] == ["v1.mp4"]
    reasons = dict(report.rejected_filenames)
    assert "outside the videos folder" in reasons["secret.mp4"]
    assert "outside the videos folder" in reasons["linked/d.mp4"]


def test_same_file_name_in_two_folders_is_reported_not_given_a_shared_job_id(
    project_root: Path,
) -> None:
    """Two videos with one file name would share a job id: the second is reported."""
    folder = make_campaign(
        project_root, captions="filename,caption\nclip,both\n", videos=("a/clip.mp4", "b/clip.mp4")
    )
    report = CampaignConfig.from_folder(folder, project_root).match_videos()
    assert [m.relative_path for m in report.matched] == ["a/clip.mp4"]
    assert report.duplicate_video_names == ["b/clip.mp4"]


def test_compute_sha256_streams_and_matches_hashlib(tmp_path: Path) -> None:
    """The streamed hash of a file bigger than one chunk equals hashlib's one-shot hash."""
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "big.mp4"
    path.write_bytes(data)
    assert compute_sha256(path) == hashlib.sha256(data).hexdigest()


# -- discovery ----------------------------------------------------------------------------------
def test_scan_lists_valid_campaigns_by_name_and_invalid_ones_with_their_error(
    project_root: Path,
) -> None:
    """Valid campaigns come sorted by name; broken folders are returned with why, not skipped."""
    make_campaign(project_root, "b_folder", config={"name": "alpha"})
    make_campaign(project_root, "a_folder")
    broken = make_campaign(project_root, "broken")
    (broken / "accounts.txt").unlink()
    (project_root / "campaigns" / ".hidden").mkdir()
    (project_root / "campaigns" / "README.txt").write_text("not a campaign", "utf-8")
    valid, invalid = scan_campaigns(project_root)
    assert [c.name for c in valid] == ["a_folder", "alpha"]
    assert [name for name, _ in invalid] == ["broken"]
    assert "missing accounts.txt" in invalid[0][1]
    assert [c.name for c in CampaignConfig.list_campaigns(project_root)] == ["a_folder", "alpha"]


def test_scan_without_a_campaigns_folder_is_empty(project_root: Path) -> None:
    """A project with no campaigns/ folder has no campaigns (and no error)."""
    assert scan_campaigns(project_root) == ([], [])
    assert CampaignConfig.list_campaigns() == []


def test_project_root_defaults_to_postpilot_home(project_root: Path) -> None:
    """Without project_root, the campaign belongs to POSTPILOT_HOME (where the ledger lives)."""
    folder = make_campaign(project_root, "x")
    assert CampaignConfig.from_folder(folder).project_root == str(project_root)


# -- the example campaigns --------------------------------------------------------------------
def _mp4_boxes(path: Path) -> list[str]:
    """Top-level ISO-BMFF box types of an MP4 file."""
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def test_demo_example_has_six_accounts_and_twelve_real_captioned_videos() -> None:
    """examples/campaigns/demo: >= 6 accounts, 12 small real MP4s, every one captioned."""
    demo = CampaignConfig.from_folder(EXAMPLES / "demo", REPO)
    assert demo.name == "demo"
    assert len(demo.get_accounts()) >= 6
    report = demo.match_videos()
    assert len(report.matched) == 12
    assert report.problems() == []
    assert any("\n" in m.caption for m in report.matched)
    assert any(any(ord(ch) > 0xFFFF for ch in m.caption) for m in report.matched)
    sizes = []
    for m in report.matched:
        boxes = _mp4_boxes(Path(m.video_path))
        assert boxes[0] == "ftyp"
        assert {"moov", "mdat"} <= set(boxes)
        sizes.append(Path(m.video_path).stat().st_size)
    assert sum(sizes) < 1024 * 1024
    assert len({compute_sha256(m.video_path) for m in report.matched}) == 12


def test_podcast_example_has_caption_header_nested_videos_and_limit_two() -> None:
    """examples/campaigns/podcast: filename,caption header, nested folders, daily limit 2."""
    podcast = CampaignConfig.from_folder(EXAMPLES / "podcast", REPO)
    assert podcast.max_posts_per_account_per_day == 2
    captions = podcast.load_captions()
    assert (captions.filename_column, captions.caption_column) == ("filename", "caption")
    report = podcast.match_videos()
    assert len(report.matched) == 6
    assert report.problems() == []
    assert all(m.relative_path.count("/") == 2 for m in report.matched)
    assert len({compute_sha256(m.video_path) for m in report.matched}) == 6


def test_examples_are_discovered_as_campaigns(tmp_path: Path) -> None:
    """A project whose campaigns/ holds the two examples lists both as valid."""
    root = tmp_path / "proj"
    (root / "campaigns").mkdir(parents=True)
    for name in ("demo", "podcast"):
        os.symlink(EXAMPLES / name, root / "campaigns" / name)
    valid, invalid = scan_campaigns(root)
    assert [c.name for c in valid] == ["demo", "podcast"]
    assert invalid == []


def test_caption_suffix_case_does_not_stop_a_match(project_root: Path) -> None:
    """`x.mp4` in the CSV names `x.MP4` on disk; an exact name still wins over it."""
    folder = make_campaign(
        project_root,
        captions="filename,post_caption\nclip.mp4,lower\nexact.MOV,exact\nexact.mov,other\n",
        videos=("clip.MP4", "exact.MOV"),
    )
    report = CampaignConfig.from_folder(folder, project_root).match_videos()
    assert [(m.filename, m.caption) for m in report.matched] == [
        ("clip.MP4", "lower"),
        ("exact.MOV", "exact"),
    ]
    assert report.captions_without_videos == ["exact.mov"]


def test_two_folders_with_one_campaign_name_are_reported(project_root: Path) -> None:
    """A second folder claiming an existing campaign name is listed as invalid, not merged."""
    make_campaign(project_root, "first", config={"name": "same"})
    make_campaign(project_root, "second", config={"name": "same"})
    valid, invalid = scan_campaigns(project_root)
    assert [c.name for c in valid] == ["same"]
    assert invalid[0][0] == "second"
    assert "Campaign name 'same' is already used by folder first" in invalid[0][1]
