"""report.html: what it shows, how it looks, its charts, and the evidence behind takedown verdicts."""
