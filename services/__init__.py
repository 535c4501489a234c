"""Every local process reasonlake runs."""
