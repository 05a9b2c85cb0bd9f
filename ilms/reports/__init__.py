"""Reports: assessment statistics, privacy rules and file import/export for cohort reports."""
