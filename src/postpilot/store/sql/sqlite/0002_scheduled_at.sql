-- Jobs gain their posting slot (NULL: due at once).
ALTER TABLE c.jobs ADD COLUMN scheduled_at TEXT;
