"""The registry's commands, one module per concept; each command owns its transaction.

``common`` holds what they share: coordinates and phones read at the edge, the search
conditions, and the checks on stations and sign-in accounts.
"""
