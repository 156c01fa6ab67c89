"""The open-data catalogue's domain logic (issue 21), as plain functions in modules:

* :mod:`.publishing` — datasets, resources, publication requests and the Departmental Data
  Officer's decision;
* :mod:`.versions` — resource versions in the content-addressed store.
"""
