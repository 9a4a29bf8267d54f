"""Foreground / background estimation: image math only (one solver per module, all listed in
`solvers.SOLVERS`; the colour-spill score in `spill`). The dataset driver is `datagen.refit`.

One process-wide setting is made here, before any solver's parallel kernel can load numba's
OpenMP runtime (GNU libgomp reads it once, when it loads): threads waiting at a barrier spin
for about a thousand iterations, then sleep, instead of libgomp's default of ~300 000. Why: a
solve is hundreds of short parallel phases, and on a machine whose cores other processes also
use, a spinning thread takes the core its partner needs to reach the barrier. On 2 shared
cores (load 3-4) a 0.4 MP levin solve took 1.0-7.6 s (median of 5) with the default and
0.6-1.0 s with this, and on an idle machine the two are equal within noise. A value the user
set in the environment wins; other threading layers (tbb, workqueue) ignore it.
"""

import os

os.environ.setdefault("GOMP_SPINCOUNT", "1000")
