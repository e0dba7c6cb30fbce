"""Service organisations: providers, contracts, red and black lists, fraud holds, ratings."""
