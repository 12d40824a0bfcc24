"""Project checkov policies (loaded with --external-checks-dir)."""
