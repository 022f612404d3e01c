import ncmsurf as ns
from ncmsurf.datasets.tem import synthetic_coated_particle

# two coated particles (synthetic HRTEM, 0.1 nm pixels): each profile's core boundary and surface drawn on,
# the mean thickness with its standard error in the title, a scale bar
images = {label: synthetic_coated_particle(thickness=d, pixel_size=0.1, seed=k, sample=label)
          for k, (label, d) in enumerate((("A(5)-NCM", 1.0), ("F(3)-NCM", 1.5)))}
fig = ns.figures.tem(images)
