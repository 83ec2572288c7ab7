-- seeds: names a user of the seed systems types, kept where they are cheap
-- (docs/seeds.md maps every other name to its salesflow object). Each is a
-- thin view or call over the real object: no logic lives here.

-- The bulk-upload seed refreshed its dashboard with refresh_dashboard().
CREATE FUNCTION salesflow.refresh_dashboard() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a function cannot commit: every view in this one transaction
    CALL salesflow.refresh_dashboards(commit_each => false);
END
$$;
COMMENT ON FUNCTION salesflow.refresh_dashboard() IS
    'Seed name (bulk-upload seed): refreshes every dashboard view in one transaction, as CALL salesflow.refresh_dashboards(commit_each => false). Admins only; prefer CALL salesflow.refresh_dashboards(), which commits after each view.';
REVOKE EXECUTE ON FUNCTION salesflow.refresh_dashboard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.refresh_dashboard() TO salesflow_admin;

-- The bulk-upload seed called its customers stores.
CREATE VIEW salesflow.stores WITH (security_invoker = true, security_barrier = true) AS
SELECT c.tenant_id, c.customer_id AS store_id, c.ref AS store_ref, c.name AS store_name, c.city, c.country,
       c.first_order_at, c.last_order_at
  FROM salesflow.customers c
 WHERE NOT c.is_anonymous;
COMMENT ON VIEW salesflow.stores IS
    'Seed name (bulk-upload seed): the customers of the session''s tenant under the seed''s name for them (stores), anonymous lines left out.';
COMMENT ON COLUMN salesflow.stores.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.stores.store_id IS 'customers.customer_id.';
COMMENT ON COLUMN salesflow.stores.store_ref IS 'customers.ref: the store''s id in the source system.';
COMMENT ON COLUMN salesflow.stores.store_name IS 'customers.name.';
COMMENT ON COLUMN salesflow.stores.city IS 'City.';
COMMENT ON COLUMN salesflow.stores.country IS 'Country.';
COMMENT ON COLUMN salesflow.stores.first_order_at IS 'First order.';
COMMENT ON COLUMN salesflow.stores.last_order_at IS 'Latest order.';
GRANT SELECT ON salesflow.stores TO salesflow_reader;

-- The bulk-upload seed's upsell suggestions table.
CREATE VIEW salesflow.upselling_recommendations WITH (security_invoker = true, security_barrier = true) AS
SELECT r.tenant_id, r.customer_id AS store_id, c.ref AS store_ref, c.name AS store_name, r.product_id, p.sku,
       p.name AS product_name, r.rank, r.score, r.reason, r.computed_at
  FROM salesflow.recommendations r
  JOIN salesflow.customers c ON c.tenant_id = r.tenant_id AND c.customer_id = r.customer_id
  JOIN salesflow.products p ON p.tenant_id = r.tenant_id AND p.product_id = r.product_id;
COMMENT ON VIEW salesflow.upselling_recommendations IS
    'Seed name (bulk-upload seed): salesflow.recommendations (products a store does not buy yet, strongly associated with what it buys) with store and product names.';
COMMENT ON COLUMN salesflow.upselling_recommendations.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.upselling_recommendations.store_id IS 'customers.customer_id.';
COMMENT ON COLUMN salesflow.upselling_recommendations.store_ref IS 'customers.ref.';
COMMENT ON COLUMN salesflow.upselling_recommendations.store_name IS 'customers.name.';
COMMENT ON COLUMN salesflow.upselling_recommendations.product_id IS 'Suggested product.';
COMMENT ON COLUMN salesflow.upselling_recommendations.sku IS 'Its SKU.';
COMMENT ON COLUMN salesflow.upselling_recommendations.product_name IS 'Its name.';
COMMENT ON COLUMN salesflow.upselling_recommendations.rank IS '1 = strongest suggestion.';
COMMENT ON COLUMN salesflow.upselling_recommendations.score IS 'Lift x confidence of the rule behind it.';
COMMENT ON COLUMN salesflow.upselling_recommendations.reason IS 'Why it is suggested.';
COMMENT ON COLUMN salesflow.upselling_recommendations.computed_at IS 'When it was computed.';
GRANT SELECT ON salesflow.upselling_recommendations TO salesflow_reader;
