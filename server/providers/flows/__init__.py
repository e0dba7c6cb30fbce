"""The providers domain's flows: one module per thing a person does."""
