-- salesflow 0.1.0 -> 0.2.0. Run by ALTER EXTENSION salesflow UPDATE.
--
-- Every schema change made in src/sql/ since 0.1.0 is repeated here, so that an
-- upgraded database ends up exactly like a fresh 0.2.0 install; scripts/upgrade-check
-- proves it (README, "Releases"). Keep user data: ALTER tables, never drop and
-- recreate them; CREATE OR REPLACE functions and views.
\echo Use "ALTER EXTENSION salesflow UPDATE TO '0.2.0'" to load this file. \quit
