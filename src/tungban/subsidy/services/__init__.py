"""The AI Subsidy Scheme's services (issue 20), one module per area: :mod:`.funds` (the fund's
releases, ledger and virements), :mod:`.capacity` (the centre's capacity and what is committed),
:mod:`.awards` (terms, awards, agreements, co-payment, reallocation)."""
