"""Exports: every table as CSV, JSON Lines or Parquet, streamed in chunks (the data belongs to
the merchant). registry says what is exportable, service plans and reads, formats writes."""
