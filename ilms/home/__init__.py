"""Each role's home page, the landing page, and the health checks."""
