"""The operator's console and the phone pages: read models over the live state."""
