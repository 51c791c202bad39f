"""Contract, state-machine and SQLite-specific tests of the job stores."""
