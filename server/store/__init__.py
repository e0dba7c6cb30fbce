"""The relational store: tables, engine, transactions."""
