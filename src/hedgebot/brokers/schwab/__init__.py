"""Charles Schwab: OAuth tokens (the SchwabAuth aggregate, encrypted at rest) and the
trader API adapter."""
