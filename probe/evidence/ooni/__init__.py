"""Our measurements in OONI's formats: web_connectivity JSON, its summary keys, JSONL export."""
