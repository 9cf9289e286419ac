"""The Excel 台帳 importer: validate every row, then write all or nothing (see ledger.py)."""
