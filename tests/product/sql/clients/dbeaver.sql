-- The SQL DBeaver sends to PostgreSQL on connect, for its navigator and its completion, as data for
-- tests/product/sql/test_bi_statements.py.
--
-- Quoted from DBeaver (https://github.com/dbeaver/dbeaver, Apache License 2.0), commit
-- 2428359b748778a5a345432906ab3da69289c20c (2024-10-24), plugin
-- plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/. DBeaver builds
-- them from string pieces; each is written here as DBeaver assembles it for a PostgreSQL 15 server
-- with the connection's default settings (no object filters, templates and unavailable databases
-- hidden, utility objects hidden), its `?` parameters as DBeaver binds them (`params`). Only the
-- statements are quoted, as test data; no DBeaver code is.
--
-- Each record: `-- name:`, `-- from:` (file:line in the plugin), `-- params:` (what DBeaver binds:
-- schema = the oid of the schema being browsed, table = the table's oid, database = the database's
-- name, or a literal), `-- rows:` (the columns whose names, types and values must be PostgreSQL's;
-- none when the statement need only answer, its rows being the server's own, such as its roles),
-- optionally `-- keep: column = a|b` (compare only those rows: a port serves one database and the
-- mesh's schemas), then the statement.

-- name: dbeaver.current-database
-- from: model/PostgreDataSource.java:197 (initializeRemoteInstance)
-- params:
-- rows: current_database
SELECT current_database()

-- name: dbeaver.version
-- from: model/PostgreDataSource.java:441 (readDatabaseServerVersion)
-- params:
-- rows:
SELECT version()

-- name: dbeaver.databases
-- from: model/PostgreDataSource.java:225 (prepareReadDatabaseListStatement)
-- params: database
-- rows: datname, datistemplate, datallowconn
-- keep: datname = <database>
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND NOT datistemplate OR db.datname =?
ORDER BY db.datname

-- name: dbeaver.context-defaults
-- from: model/PostgreExecutionContext.java:170 (refreshDefaults)
-- params:
-- rows: current_schema, session_user
SELECT current_schema(),session_user

-- name: dbeaver.search-path
-- from: model/PostgreExecutionContext.java:186 (refreshDefaults)
-- params:
-- rows: search_path
SHOW search_path

-- name: dbeaver.setting
-- from: model/PostgreDataSource.java:777 (readSettings, one setting)
-- params: standard_conforming_strings
-- rows: name, setting
select * from pg_catalog.pg_settings where name=?

-- name: dbeaver.database-description
-- from: model/PostgreDatabase.java:325 (getDescription)
-- params: database
-- rows: description
select description from pg_shdescription join pg_database on objoid = pg_database.oid where datname = ?

-- name: dbeaver.schemas
-- from: model/PostgreDatabase.java:1332 (SchemaCache.prepareLookupStatement)
-- params:
-- rows: nspname, description
-- keep: nspname = sales|pg_catalog|information_schema
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname

-- name: dbeaver.roles
-- from: model/PostgreDatabase.java:1076 (RoleCache.prepareObjectsStatement)
-- params:
-- rows:
SELECT a.oid,a.*,pd.description FROM pg_catalog.pg_roles a 
left join pg_catalog.pg_shdescription pd on a.oid = pd.objoid
ORDER BY a.rolname

-- name: dbeaver.data-types
-- from: model/PostgreDatabase.java:706 (readDataTypes), model/PostgreDataTypeCache.java:169 (base type name)
-- params:
-- rows:
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem 
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')

-- name: dbeaver.tables
-- from: model/PostgreSchema.java:844 (TableCache.prepareLookupStatement)
-- params: schema
-- rows: relname, relkind, description
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=? AND c.relkind not in ('i','I','c')

-- name: dbeaver.columns
-- from: model/PostgreSchema.java:882 (TableCache.prepareChildrenStatement)
-- params: schema
-- rows: relname, attname, attnum, attnotnull, def_value
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.relnamespace=?
ORDER BY a.attnum

-- name: dbeaver.constraints
-- from: model/PostgreSchema.java:931 (ConstraintCache.prepareObjectsStatement)
-- params: schema
-- rows: contype, tabrelname, consrc_copy
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE t.relnamespace=?
ORDER BY c.oid

-- name: dbeaver.indexes
-- from: model/PostgreSchema.java:1088 (IndexCache.prepareObjectsStatement)
-- params: schema
-- rows: indisunique, indisprimary, keys, tabrelname, pred_expr, expr
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  c.relnamespace=? ORDER BY c.relname
