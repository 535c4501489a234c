"""Lake: settings, the Iceberg table contract, and catalog helpers (pyiceberg)."""
