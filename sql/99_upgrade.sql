-- The upgrade path: install the first version, then update to the default one.
\set SHOW_CONTEXT never
DROP EXTENSION salesflow;
CREATE EXTENSION salesflow VERSION '0.1.0';
ALTER EXTENSION salesflow UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'salesflow') AS at_default
  FROM pg_extension WHERE extname = 'salesflow';
-- every shipped version can reach the default version
SELECT v.version AS version_without_update_path
  FROM pg_available_extension_versions v, pg_available_extensions e
 WHERE v.name = 'salesflow' AND e.name = 'salesflow' AND v.version <> e.default_version
   AND NOT EXISTS (SELECT 1 FROM pg_extension_update_paths('salesflow') p
                    WHERE p.source = v.version AND p.target = e.default_version AND p.path IS NOT NULL);
-- roles survive DROP EXTENSION (they are cluster-wide) and re-install is clean
DROP EXTENSION salesflow;
SELECT count(*) AS roles_kept FROM pg_roles WHERE rolname IN ('salesflow_reader', 'salesflow_writer', 'salesflow_admin');
CREATE EXTENSION salesflow;
SELECT count(*) AS tenants_after_reinstall FROM salesflow.tenants;
