import ncmsurf as ns
from ncmsurf.datasets.coating import synthetic_cycled_profile

# ToF-SIMS after cycling: the coating's fragments fall at its thickness, fluorides mark the surface film
profiles = {label: synthetic_cycled_profile(coating_thickness=d, cei_thickness=c, sputter_rate=0.01, width=0.2,
                                            seed=k, depth_range=6.0)
            for k, (label, d, c) in enumerate((("P-NCM@100", 0.0, 1.2), ("A(3)-NCM@100", 0.6, 0.9),
                                               ("F(3)-NCM@100", 1.5, 0.6)))}
fig = ns.figures.sims_profiles(profiles)
