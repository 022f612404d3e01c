"""X-ray emission line energies used to make element maps from EDS spectrum images."""
