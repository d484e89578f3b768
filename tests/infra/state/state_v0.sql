BEGIN TRANSACTION;
CREATE TABLE access_requests (
	id VARCHAR(36) NOT NULL, 
	principal JSON NOT NULL, 
	product VARCHAR(140) NOT NULL, 
	port VARCHAR(63) NOT NULL, 
	purpose TEXT NOT NULL, 
	note TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	requested_us BIGINT NOT NULL, 
	decided_by TEXT, 
	decision_note TEXT NOT NULL, 
	decided_us BIGINT, 
	expires_us BIGINT, 
	PRIMARY KEY (id)
);
CREATE TABLE api_tokens (
	id VARCHAR(16) NOT NULL, 
	secret_sha256 VARCHAR(64) NOT NULL, 
	name TEXT NOT NULL, 
	principal JSON NOT NULL, 
	created_us BIGINT NOT NULL, 
	expires_us BIGINT, 
	revoked_us BIGINT, 
	PRIMARY KEY (id)
);
INSERT INTO "api_tokens" VALUES('4936a9d29707243b','080b450f93543e8b8eea946afc3537f29c8f0c27440fdbfca23e606b468418d7','before','{"id": "ann@example.com", "kind": "User", "groups": ["analysts"], "attributes": {}}',1796618981160602,NULL,NULL);
CREATE TABLE audit_log (
	seq INTEGER NOT NULL, 
	at_us BIGINT NOT NULL, 
	actor TEXT NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	resource TEXT NOT NULL, 
	purpose TEXT NOT NULL, 
	decision VARCHAR(16) NOT NULL, 
	policy_ids JSON NOT NULL, 
	details JSON NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (seq), 
	UNIQUE (prev_hash)
);
INSERT INTO "audit_log" VALUES(1,1796618981170026,'User:ann@example.com','files.read','sales/shop/orders','','allow','[]','{}','0000000000000000000000000000000000000000000000000000000000000000','db1130977f8199b7ae3c565131cb161b90f34ae402d77683370a4bf596d4f995');
CREATE TABLE data_keys (
	subject_hash VARCHAR(64) NOT NULL, 
	wrapped BLOB NOT NULL, 
	created_us BIGINT NOT NULL, 
	PRIMARY KEY (subject_hash)
);
INSERT INTO "data_keys" VALUES('check:0000000000000000000000000000000000000000000000000000000000',X'CA4EC2EEACE0851822A30FC40C14DB8A6E7B5E46ED16F7BDC33A869E542FC11F832F4A',1796618981189273);
INSERT INTO "data_keys" VALUES('afd2f1575f3b3e71ac3c90a1df05b1a9ff32f114bd7a94872f5ec0e28f2ae442',X'EA5428D9C88AB2400C858B9330CDA804B13575C0E8B19FC6C0287815ACD6ACCAA1D5252596A208C3F1A791735AE24158D759FB0DE9ED1CB80B8C3E21',1796618981193865);
CREATE TABLE forgotten_subjects (
	subject_hash VARCHAR(64) NOT NULL, 
	forgotten_us BIGINT NOT NULL, 
	PRIMARY KEY (subject_hash)
);
CREATE TABLE locks (
	name VARCHAR(255) NOT NULL, 
	owner VARCHAR(64) NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	pid INTEGER NOT NULL, 
	acquired_us BIGINT NOT NULL, 
	expires_us BIGINT NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE majors (
	id INTEGER NOT NULL, 
	product_id INTEGER NOT NULL, 
	major INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	sunset VARCHAR(32), 
	successor TEXT, 
	reason TEXT, 
	updated_us BIGINT NOT NULL, 
	details JSON NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_majors_major UNIQUE (product_id, major), 
	FOREIGN KEY(product_id) REFERENCES products (id)
);
CREATE TABLE notices (
	id INTEGER NOT NULL, 
	consumer_id INTEGER NOT NULL, 
	upstream VARCHAR(140) NOT NULL, 
	major INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	message TEXT NOT NULL, 
	created_us BIGINT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(consumer_id) REFERENCES products (id)
);
CREATE TABLE pins (
	id INTEGER NOT NULL, 
	product_id INTEGER NOT NULL, 
	version VARCHAR(64) NOT NULL, 
	port VARCHAR(63) NOT NULL, 
	upstream VARCHAR(140) NOT NULL, 
	major INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_pins_port UNIQUE (product_id, version, port), 
	FOREIGN KEY(product_id) REFERENCES products (id)
);
CREATE TABLE ports (
	id INTEGER NOT NULL, 
	product_id INTEGER NOT NULL, 
	major INTEGER NOT NULL, 
	name VARCHAR(63) NOT NULL, 
	table_id TEXT NOT NULL, 
	baseline_snapshot BIGINT NOT NULL, 
	created_us BIGINT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_ports_name UNIQUE (product_id, major, name), 
	FOREIGN KEY(product_id) REFERENCES products (id)
);
CREATE TABLE privacy_budget (
	principal TEXT NOT NULL, 
	port VARCHAR(255) NOT NULL, 
	limit_epsilon FLOAT NOT NULL, 
	spent_epsilon FLOAT NOT NULL, 
	updated_us BIGINT NOT NULL, 
	CONSTRAINT pk_privacy_budget PRIMARY KEY (principal, port)
);
INSERT INTO "privacy_budget" VALUES('User:ann@example.com','dp://sales/shop/orders',1.0,0.25,1796618981175058);
CREATE TABLE products (
	id INTEGER NOT NULL, 
	domain VARCHAR(63) NOT NULL, 
	name VARCHAR(63) NOT NULL, 
	created_us BIGINT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_products_key UNIQUE (domain, name)
);
INSERT INTO "products" VALUES(1,'sales','shop',1796618981153284);
CREATE TABLE publications (
	id INTEGER NOT NULL, 
	run_id VARCHAR(36) NOT NULL, 
	port_id INTEGER NOT NULL, 
	snapshot_id BIGINT NOT NULL, 
	rows BIGINT NOT NULL, 
	published_us BIGINT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (id), 
	FOREIGN KEY(port_id) REFERENCES ports (id)
);
CREATE TABLE rule_checks (
	product VARCHAR(140) NOT NULL, 
	version VARCHAR(64) NOT NULL, 
	ruleset TEXT NOT NULL, 
	digest VARCHAR(80) NOT NULL, 
	revision INTEGER, 
	passed BOOLEAN NOT NULL, 
	findings JSON NOT NULL, 
	checked_us BIGINT NOT NULL, 
	CONSTRAINT pk_rule_checks PRIMARY KEY (product, version)
);
CREATE TABLE rulesets (
	revision INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	version VARCHAR(64) NOT NULL, 
	digest VARCHAR(80) NOT NULL, 
	text TEXT NOT NULL, 
	author VARCHAR(200) NOT NULL, 
	created_us BIGINT NOT NULL, 
	PRIMARY KEY (revision)
);
INSERT INTO "rulesets" VALUES(1,'acme','1.0.0','dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd','name: acme
version: 1.0.0
rules: []
','governance',1796618981172915);
CREATE TABLE runs (
	id VARCHAR(36) NOT NULL, 
	product_id INTEGER NOT NULL, 
	version VARCHAR(64) NOT NULL, 
	major INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	"trigger" VARCHAR(32) NOT NULL, 
	started_us BIGINT NOT NULL, 
	finished_us BIGINT, 
	host VARCHAR(255) NOT NULL, 
	pid INTEGER NOT NULL, 
	error TEXT, 
	details JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(product_id) REFERENCES products (id)
);
CREATE TABLE versions (
	id INTEGER NOT NULL, 
	product_id INTEGER NOT NULL, 
	version VARCHAR(64) NOT NULL, 
	major INTEGER NOT NULL, 
	minor INTEGER NOT NULL, 
	patch INTEGER NOT NULL, 
	spec_text TEXT NOT NULL, 
	spec_hash VARCHAR(64) NOT NULL, 
	bundle TEXT NOT NULL, 
	origin TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	deployed_us BIGINT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_versions_version UNIQUE (product_id, version), 
	FOREIGN KEY(product_id) REFERENCES products (id)
);
INSERT INTO "versions" VALUES(1,1,'1.0.0',1,0,0,'domain: sales
name: shop
','hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh','/nowhere','test','active',1700000000000000);
CREATE INDEX ix_audit_actor ON audit_log (actor, at_us);
CREATE INDEX ix_audit_resource ON audit_log (resource, at_us);
CREATE INDEX ix_access_requests_product ON access_requests (product, port, status);
CREATE INDEX ix_runs_product ON runs (product_id, started_us);
CREATE INDEX ix_notices_consumer ON notices (consumer_id, created_us);
CREATE INDEX ix_publications_port ON publications (port_id, published_us);
COMMIT;
