"""One router per port of a data product, plus the node's own routes."""
