"""Help calls's serialisers: rows to the schemas the API answers with."""
