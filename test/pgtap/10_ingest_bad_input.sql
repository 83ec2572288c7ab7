-- ingest: malformed input. Each case gives a reject with a reason or a clear
-- file-level error; valid lines of the same file still load; the backend
-- never crashes; nothing leaks between the cases.
BEGIN;
SELECT * FROM no_plan();
SELECT salesflow.create_tenant('bad_input', 'UTC', 'EUR') \gset
SET LOCAL salesflow.tenant = 'bad_input';
SET LOCAL client_min_messages = error;

CREATE TEMP TABLE cases (
    n serial, name text, content bytea, options jsonb DEFAULT '{}',
    want_status text, want_accepted int, want_rejected int, want_reason text
);
-- H: a valid header; V: a valid line
\set H 'invoice,sku,description,quantity,unit_price,date,customer'
INSERT INTO cases (name, content, options, want_status, want_accepted, want_rejected, want_reason) VALUES
('wrong delimiter given', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{"delimiter": ";"}', 'failed', 0, 0, 'required column'),
('unbalanced quote', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02,C1\n2,A,"Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'quote'),
('ragged row, extra fields', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1,x,y\n', 'UTF8'), '{}', 'processed', 1, 1, 'expected 7 fields'),
('ragged row, missing fields', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02,C1\n2,A,Mug\n', 'UTF8'), '{}', 'processed', 1, 1, 'expected 7 fields'),
('empty file', ''::bytea, '{}', 'failed', 0, 0, 'empty'),
('only blank lines', convert_to(E'\n\n\r\n', 'UTF8'), '{}', 'failed', 0, 0, 'empty'),
('header only', convert_to(:'H' || E'\n', 'UTF8'), '{}', 'processed', 0, 0, NULL),
('header only, no newline', convert_to(:'H', 'UTF8'), '{}', 'processed', 0, 0, NULL),
('duplicate headers', convert_to(E'invoice,sku,qty,quantity,price,date\n1,A,1,1,2,2024-01-02\n', 'UTF8'), '{}', 'failed', 0, 0, 'both map'),
('unknown extra headers ignored', convert_to(E'invoice,sku,qty,price,date,colour,weight\n1,A,1,2,2024-01-02,red,3kg\n', 'UTF8'), '{}', 'processed', 1, 0, NULL),
('no known headers at all', convert_to(E'a,b,c\n1,2,3\n', 'UTF8'), '{}', 'failed', 0, 0, 'required column'),
('binary garbage', decode('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a4944415478da6300010000050001', 'hex'), '{}', 'failed', 0, 0, NULL),
('NUL byte in a line', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8') || decode('322c412c4d00672c312c322e352c323032342d30312d30322c43310a', 'hex'), '{}', 'processed', 1, 1, 'NUL'),
('invalid UTF-8 when UTF8 is declared', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8') || decode('322c412cc3282c312c322e352c323032342d30312d30322c43310a', 'hex'), '{"encoding": "UTF8"}', 'processed', 1, 1, 'UTF-8'),
('Windows-1252 detected and converted', convert_to(:'H' || E'\n', 'UTF8') || decode('312c57312c4361666520a3352c312c322e352c323032342d30312d30322c43310a', 'hex'), '{}', 'processed', 1, 0, NULL),
('1 MB field', convert_to(:'H' || E'\n1,A,' || repeat('x', 1048576) || E',1,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'longer'),
('31 February', convert_to(:'H' || E'\n1,A,Mug,1,2.5,31/02/2024,C1\n2,A,Mug,1,2.5,13/02/2024,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'does not exist'),
('month 13 in ISO', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-13-01,C1\n2,A,Mug,1,2.5,2024-12-01,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'date'),
('1e309 quantity', convert_to(:'H' || E'\n1,A,Mug,1e309,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'quantity'),
('NaN price', convert_to(:'H' || E'\n1,A,Mug,1,NaN,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'price'),
('Infinity price', convert_to(:'H' || E'\n1,A,Mug,1,Infinity,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'price'),
('absurd quantity', convert_to(:'H' || E'\n1,A,Mug,-1000000000000,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'quantity'),
('absurd price', convert_to(:'H' || E'\n1,A,Mug,1,99999999999,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'price'),
('zero quantity', convert_to(:'H' || E'\n1,A,Mug,0,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'zero'),
('quantity not a number', convert_to(:'H' || E'\n1,A,Mug,lots,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'not a number'),
('quantity 1.5.3', convert_to(:'H' || E'\n1,A,Mug,1.5.3,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'quantity'),
('price is a dash', convert_to(:'H' || E'\n1,A,Mug,1,-,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'price'),
('empty invoice number', convert_to(:'H' || E'\n,A,Mug,1,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'invoice'),
('no sku and no description', convert_to(:'H' || E'\n1,,,1,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, NULL),
('empty date', convert_to(:'H' || E'\n1,A,Mug,1,2.5,,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'date'),
('date is text', convert_to(:'H' || E'\n1,A,Mug,1,2.5,yesterday,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'date'),
('only delimiters: an empty record is skipped like a blank line', convert_to(:'H' || E'\n,,,,,,\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 0, NULL),
('SQL in a field is just text', convert_to(:'H' || E'\n1,SQL,"Robert''); DROP TABLE salesflow.invoices;--",1,2.5,2024-01-02,"x'' OR ''1''=''1"\n', 'UTF8'), '{}', 'processed', 1, 0, NULL),
('mixed day-first and month-first dates', convert_to(:'H' || E'\n1,A,Mug,1,2.5,13/01/2024,C1\n2,A,Mug,1,2.5,01/13/2024,C1\n', 'UTF8'), '{}', 'failed', 0, 0, 'date_order'),
('CRLF line endings', convert_to(:'H' || E'\r\n1,A,Mug,1,2.5,2024-01-02,C1\r\n2,A,Mug,2,2.5,2024-01-02,C1\r\n', 'UTF8'), '{}', 'processed', 2, 0, NULL),
('UTF-8 BOM', decode('efbbbf', 'hex') || convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 0, NULL),
('tab delimiter detected', convert_to(replace(:'H', ',', E'\t') || E'\n1\tA\tMug\t1\t2.5\t2024-01-02\tC1\n', 'UTF8'), '{}', 'processed', 1, 0, NULL),
('pipe delimiter detected', convert_to(replace(:'H', ',', '|') || E'\n1|A|Mug|1|2.5|2024-01-02|C1\n', 'UTF8'), '{}', 'processed', 1, 0, NULL),
('newline inside quotes', convert_to(:'H' || E'\n1,NL,"Mug\nwith handle",1,2.5,2024-01-02,C1\n2,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 2, 0, NULL),
('escaped quotes', convert_to(:'H' || E'\n1,QQ,"The ""best"" mug",1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 0, NULL),
('currency symbols and thousands', convert_to(:'H' || E'\n1,A,Mug,1,"£1,000.50",2024-01-02,C1\n2,A,Mug, 12 ,$3,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 2, 0, NULL),
('decimal comma', convert_to(replace(:'H', ',', ';') || E'\n1;A;Mug;1;1.234,5;2024-01-02;C1\n', 'UTF8'), '{"decimal": ","}', 'processed', 1, 0, NULL),
('Excel serial dates', convert_to(:'H' || E'\n1,A,Mug,1,2.5,45000,C1\n2,A,Mug,1,2.5,45000.5,C1\n', 'UTF8'), '{}', 'processed', 2, 0, NULL),
('compact dates', convert_to(:'H' || E'\n1,A,Mug,1,2.5,20240102,C1\n2,A,Mug,1,2.5,20240230,C1\n', 'UTF8'), '{}', 'processed', 1, 1, 'date'),
('ISO with time zone', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02T10:00:00Z,C1\n2,A,Mug,1,2.5,2024-01-02T10:00:00+02:00,C1\n', 'UTF8'), '{}', 'processed', 2, 0, NULL),
('identical lines are two occurrences', convert_to(:'H' || E'\n1,A,Mug,1,2.5,2024-01-02,C1\n1,A,Mug,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 2, 0, NULL),
('control characters kept as text', convert_to(:'H' || E'\n1,A,Mug\x01\x02,1,2.5,2024-01-02,C1\n', 'UTF8'), '{}', 'processed', 1, 0, NULL),
('1000 columns', convert_to(:'H' || repeat(',x', 1000) || E'\n1,A,Mug,1,2.5,2024-01-02,C1' || repeat(',1', 1000) || E'\n', 'UTF8'), '{}', 'processed', 1, 0, NULL);

-- Run every case in its own subtransaction and keep what happened.
CREATE TEMP TABLE outcomes (n int, status text, accepted bigint, rejected bigint, error text, reasons text);
DO $$
DECLARE c record; up salesflow.uploads; reasons text;
BEGIN
    FOR c IN SELECT * FROM cases ORDER BY n LOOP
        BEGIN
            up := salesflow.import_csv(c.content, c.options);
            SELECT string_agg(reason, ' | ') INTO reasons FROM salesflow.upload_rejects r WHERE r.upload_id = up.upload_id;
            INSERT INTO outcomes VALUES (c.n, up.status, up.accepted, up.rejected, up.error, reasons);
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO outcomes VALUES (c.n, 'error ' || SQLSTATE, 0, 0, SQLERRM, NULL);
        END;
    END LOOP;
END $$;

SELECT is(o.status, c.want_status, format('%s: status (%s)', c.name, coalesce(o.error, o.reasons, 'no reason')))
  FROM cases c JOIN outcomes o USING (n) ORDER BY n;
SELECT is(o.accepted, c.want_accepted::bigint, c.name || ': valid lines still load')
  FROM cases c JOIN outcomes o USING (n) ORDER BY n;
SELECT is(o.rejected, c.want_rejected::bigint, c.name || ': rejected lines')
  FROM cases c JOIN outcomes o USING (n) ORDER BY n;
SELECT ok(coalesce(o.error, o.reasons) ~* c.want_reason,
          format('%s: the reason says "%s" (%s)', c.name, c.want_reason, coalesce(o.error, o.reasons)))
  FROM cases c JOIN outcomes o USING (n) WHERE c.want_reason IS NOT NULL ORDER BY n;
SELECT ok(o.error IS NOT NULL AND length(o.error) > 10, c.name || ': a failed upload says why')
  FROM cases c JOIN outcomes o USING (n) WHERE c.want_status = 'failed' ORDER BY n;
SELECT ok(o.reasons IS NOT NULL, c.name || ': every rejected line has a reason')
  FROM cases c JOIN outcomes o USING (n) WHERE c.want_rejected > 0 ORDER BY n;

-- specific values survived intact
SELECT is((SELECT name FROM salesflow.products WHERE name LIKE 'Robert%'), 'Robert''); DROP TABLE salesflow.invoices;--',
          'SQL in a field is stored as text');
SELECT ok(to_regclass('salesflow.invoices') IS NOT NULL, 'and nothing was dropped');
SELECT is((SELECT count(*) FROM salesflow.products WHERE name = 'Cafe £5'), 1::bigint,
          'Windows-1252 £ converted to UTF-8, not mangled');
SELECT is((SELECT count(*) FROM salesflow.invoice_items i WHERE i.unit_price = 1000.5), 1::bigint, 'currency symbol and thousands separator parsed');
SELECT is((SELECT count(*) FROM salesflow.invoice_items i WHERE i.unit_price = 1234.5), 1::bigint, 'decimal comma with thousands dots parsed');
SELECT is((SELECT count(*) FROM salesflow.products WHERE name = E'Mug\nwith handle'), 1::bigint, 'embedded newline kept');
SELECT is((SELECT count(*) FROM salesflow.products WHERE name = 'The "best" mug'), 1::bigint, 'escaped quotes unescaped');
SELECT is((SELECT count(*) FROM salesflow.upload_rejects WHERE raw_line LIKE '%\x00%' OR value LIKE '%\x00%'), 1::bigint,
          'a NUL byte is shown as \x00 in the reject, not stored');
SELECT ok((SELECT bool_and(length(raw_line) <= 8192) FROM salesflow.upload_rejects), 'raw lines are truncated');
SELECT is((SELECT count(*) FROM salesflow.uploads WHERE status = 'failed' AND error IS NULL), 0::bigint,
          'no failed upload without an error');
SELECT is((SELECT count(*) FROM salesflow.uploads u WHERE u.status = 'failed'
             AND EXISTS (SELECT 1 FROM salesflow.invoice_items i WHERE i.upload_id = u.upload_id)), 0::bigint,
          'failed uploads loaded no data');
SELECT is((SELECT count(*) FROM salesflow.upload_contents), (SELECT count(*) FROM salesflow.uploads),
          'every upload kept its bytes');
SELECT is((SELECT 1), 1, 'the backend is alive');
SELECT * FROM finish();
ROLLBACK;
