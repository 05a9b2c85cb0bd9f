"""Information sessions: the catalogue, registration with waitlists, attendance, feedback, figures."""
