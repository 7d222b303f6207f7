"""Every change to a case: one function per transition, transactional, recorded as a
CaseEvent. `intake` creates cases; `work` holds the officers' transitions."""
