"""Small shared helpers: logging, seeding, atomic files."""
