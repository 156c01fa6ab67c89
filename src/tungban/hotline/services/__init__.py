"""1823's domain services (issue 22, part scases): :mod:`.cases` (submit, the departments' and
the coordinator's actions, the sweeps), :mod:`.routing` (where a case goes), :mod:`.pledges`
(working-day pledge dates and timers), :mod:`.attachments` (checked, encrypted files),
:mod:`.notices` (the person's notifications) and :mod:`.kpi` (the dashboard's figures)."""
