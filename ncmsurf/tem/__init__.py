"""TEM images: line profiles and the coating thickness measured on them.

Examples
--------
>>> import ncmsurf as ns
>>> from ncmsurf.datasets.tem import synthetic_coated_particle
>>> img = synthetic_coated_particle(thickness=3.0, seed=2)
>>> res = ns.tem.coating_thickness(img)
>>> round(res.thickness[0], 1)
3.0
"""

from __future__ import annotations

from ncmsurf.tem._thickness import CoatingThickness, coating_thickness, line_profile

__all__ = ["CoatingThickness", "coating_thickness", "line_profile"]
