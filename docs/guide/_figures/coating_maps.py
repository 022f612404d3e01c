import ncmsurf as ns
from ncmsurf.datasets.coating import synthetic_map

# EDS maps of two coated samples in the paper's colours, with scale bars and the Ni + Al overlay
maps = {label: synthetic_map(coverage=cov, cv=0.1, shape=(96, 96), pixel_size=30.0, seed=k)
        for k, (label, cov) in enumerate((("A(3)-NCM", 0.6), ("F(3)-NCM", 0.95)))}
fig = ns.figures.eds_maps(maps)
