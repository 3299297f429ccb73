"""Browser end-to-end tests (a package, so test_issue.py here and tests/test_issue.py do not clash)."""
