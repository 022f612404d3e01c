import ncmsurf as ns
from ncmsurf.datasets.xps import synthetic_spectrum

# Ni 2p and O 1s of a coated sample, fresh and after 100 cycles (synthetic, known truth)
pairs = {}
for label, ni2 in (("A(3)-NCM", 0.25), ("A(3)-NCM@100", 0.40)):
    for region, fractions in (("Ni 2p", {"Ni2+": ni2, "Ni3+": 1 - ni2}),
                              ("O 1s", {"lattice": 0.5, "carbonate": 0.3, "C-O": 0.2})):
        spec = synthetic_spectrum(region, fractions=fractions, area=1e5, seed=len(pairs), sample=label)
        pairs[(region, label)] = (spec, ns.xps.fit(spec, region))
fig = ns.figures.xps_panels(pairs, ["Ni 2p", "O 1s"])
