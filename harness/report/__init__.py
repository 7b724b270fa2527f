"""Reports: tables and figures from claim evidence and cached analyses (nothing new is computed here beyond what the analyses cache)."""
