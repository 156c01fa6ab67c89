"""e-Payment (issue 18): the fee schedule, payment orders, FPS QR codes, incoming credit
transfers and what a paid order sets off (the purposes registry)."""
