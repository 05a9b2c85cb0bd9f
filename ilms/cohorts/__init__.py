"""Cohorts: course sections with their members and the modules embedded in them."""
