"""Rule sets shipped as data (JSON), one file per district and version."""
