-- opsproof platform seed generator.
--
-- Run as the schema owner, after all migrations, into an EMPTY database:
--
--     psql -v ON_ERROR_STOP=1 -v scale=1 -U platform_owner -d platform -f seed.sql
--
-- Do NOT pass -1/--single-transaction: the file has its own BEGIN/COMMIT and
-- ends with ANALYZE outside the transaction.
--
-- scale (numeric, > 0, default 1) multiplies the row counts. At scale 1 the
-- three large tables (oa_flow_step, reporting_submission, publishing_access)
-- hold more than 1,000,000 rows each. Dimension tables (districts, offices,
-- indicators, OA users) have a fixed size; reporting units scale with the
-- submissions (440 units x 48 months x 50 indicators at scale 1). Output is
-- deterministic: every id
-- is explicit and every "random" value is a hash of the row number
-- (pg_temp.u01 below), so the data do not depend on plan or row order;
-- records are dated 2014-01-01 .. 2018-12-31 (+08:00), article reads up to
-- 2019-06-30, reporting periods 2015-01 .. 2018-12; independent
-- of the wall clock.
--
-- Set-based SQL only (generate_series), no loops. Speed: the foreign keys of
-- the three large tables are dropped for the bulk load and re-added (and so
-- re-validated in one pass each) before COMMIT; per-row FK triggers would
-- more than double the load time. All of it is one transaction.

\set ON_ERROR_STOP on
\if :{?scale}
\else
\set scale 1
\endif

BEGIN;

SELECT set_config('seed.scale', :'scale', true) AS seed_scale \gset

-- Guard: the scale must be sane and the database must hold no data yet
-- (the deploy role also guards; belt and braces).
DO $guard$
DECLARE
    s numeric;
    t text;
    n bigint;
BEGIN
    BEGIN
        s := current_setting('seed.scale')::numeric;
    EXCEPTION WHEN others THEN
        RAISE EXCEPTION 'seed: scale must be a number, got %', current_setting('seed.scale');
    END;
    IF s IS NULL OR s <= 0 OR s > 100 THEN
        RAISE EXCEPTION 'seed: scale must be > 0 and <= 100, got %', s;
    END IF;
    FOREACH t IN ARRAY ARRAY['sharing_office', 'sharing_notice', 'intake_office',
                             'intake_report', 'investment_project',
                             'publishing_article', 'publishing_access',
                             'reporting_indicator', 'reporting_unit',
                             'reporting_submission', 'oa_user', 'oa_document',
                             'oa_flow_step'] LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I LIMIT 1) x', t) INTO n;
        IF n > 0 THEN
            RAISE EXCEPTION 'seed: refusing to run, table % already has rows (database not empty)', t;
        END IF;
    END LOOP;
END
$guard$;

SET LOCAL work_mem = '64MB';

-- Deterministic uniform [0,1) from a row number and a stream number: the
-- built-in 64-bit hash (the one hash partitioning relies on being stable),
-- seeded per stream so streams are independent. Inlined by the planner.
CREATE FUNCTION pg_temp.u01(g bigint, stream int) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $f$ SELECT (hashint8extended(g, stream) & 9007199254740991)::float8 / 9007199254740992.0 $f$;

-- Drop the foreign keys of the large tables for the load; re-added below.
CREATE TEMP TABLE seed_fk ON COMMIT DROP AS
SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def
FROM pg_constraint
WHERE contype = 'f'
  AND conrelid IN ('publishing_access'::regclass, 'reporting_submission'::regclass,
                   'oa_flow_step'::regclass);

DO $dropfk$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM seed_fk ORDER BY tbl, conname LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
END
$dropfk$;

-- Sizes derived from the scale, kept in a temp table for the statements below.
CREATE TEMP TABLE seed_size ON COMMIT DROP AS
SELECT greatest(1, ceil(24000   * s))::int AS notices,
       greatest(1, ceil(12000   * s))::int AS reports,
       greatest(1, ceil(8000    * s))::int AS projects,
       greatest(1, ceil(4000    * s))::int AS articles,
       greatest(1, ceil(1200000 * s))::int AS accesses,
       greatest(1, ceil(440     * s))::int AS units,
       greatest(1, ceil(170000  * s))::int AS documents
FROM (SELECT current_setting('seed.scale')::numeric AS s) x;

-- ---------------------------------------------------------------- sharing --
INSERT INTO sharing_office (id, code, name, district, contact_name, phone, created_at)
SELECT row_number() OVER (ORDER BY d.code, k.ord),
       d.code || '-' || k.code,
       d.name || k.name,
       d.code,
       (ARRAY['王','李','张','刘','陈','杨','黄','赵','周','吴','徐','孙'])[1 + (d.ord * 3 + k.ord) % 12]
         || (ARRAY['建华','丽娟','志强','海燕','伟','敏','磊','静','晓东','文斌'])[1 + (d.ord * 7 + k.ord) % 10],
       '021-' || lpad(((d.ord * 1000003 + k.ord * 7919) % 89999999 + 10000000)::text, 8, '0'),
       timestamptz '2014-01-01 09:00+08' + (d.ord * 3 + k.ord) * interval '1 day'
FROM (SELECT code, name, row_number() OVER (ORDER BY code) AS ord FROM district) d
CROSS JOIN (VALUES (1, 'coop',   '合作交流办公室'),
                   (2, 'invest', '投资促进办公室'),
                   (3, 'assist', '对口支援工作办公室')) AS k(ord, code, name)
ORDER BY d.code, k.ord;

INSERT INTO sharing_notice (id, office_id, title, category, body, status, published_at)
SELECT g,
       1 + (g * 7) % (SELECT count(*) FROM sharing_office),
       (ARRAY['关于','关于做好','关于开展','关于推进',''])[1 + g % 5]
         || (ARRAY['长三角一体化','对口支援','进博会 CIIE','5G 产业合作','AI 人工智能',
                   '东西部扶贫协作','一带一路','自贸区 FTZ','科创板','乡村振兴','文旅合作',
                   '生物医药','新能源汽车 EV','数字经济','Smart City 智慧城市','园区共建',
                   '人才交流','产业转移','招商推介会','营商环境'])[1 + (g / 5) % 20]
         || (ARRAY['工作的通知','信息共享','工作简报','情况通报','交流活动的函','会议纪要'])[1 + (g / 100) % 6]
         || '（第' || g || '号）',
       (ARRAY['policy','cooperation','investment','assistance','event','notice'])[1 + (g / 3) % 6],
       '各区合作交流办：现将有关情况通报如下，请结合实际认真贯彻落实。Notice #' || g || '.',
       CASE WHEN g % 50 = 0 THEN 'withdrawn' WHEN g % 97 = 0 THEN 'draft' ELSE 'published' END,
       timestamptz '2014-01-01 08:00+08'
         + ((g - 1)::float8 / sz.notices) * interval '1825 days'
         + ((g * 7919) % 36000) * interval '1 second'
FROM seed_size sz, generate_series(1, sz.notices) AS g;

-- ----------------------------------------------------------------- intake --
INSERT INTO intake_office (id, code, name, city, province, created_at)
SELECT ord, code, '上海市人民政府驻' || city || '办事处', city, province,
       timestamptz '2014-01-01 09:00+08' + ord * interval '1 day'
FROM (VALUES ( 1, 'bj',  '北京',     '北京市'),       ( 2, 'tj',  '天津',     '天津市'),
             ( 3, 'cq',  '重庆',     '重庆市'),       ( 4, 'gz',  '广州',     '广东省'),
             ( 5, 'sz',  '深圳',     '广东省'),       ( 6, 'cd',  '成都',     '四川省'),
             ( 7, 'wh',  '武汉',     '湖北省'),       ( 8, 'xa',  '西安',     '陕西省'),
             ( 9, 'sy',  '沈阳',     '辽宁省'),       (10, 'hrb', '哈尔滨',   '黑龙江省'),
             (11, 'cc',  '长春',     '吉林省'),       (12, 'km',  '昆明',     '云南省'),
             (13, 'gy',  '贵阳',     '贵州省'),       (14, 'nn',  '南宁',     '广西壮族自治区'),
             (15, 'ls',  '拉萨',     '西藏自治区'),   (16, 'wlmq','乌鲁木齐', '新疆维吾尔自治区'),
             (17, 'xn',  '西宁',     '青海省'),       (18, 'lz',  '兰州',     '甘肃省'),
             (19, 'yc',  '银川',     '宁夏回族自治区'),(20, 'hhht','呼和浩特', '内蒙古自治区'),
             (21, 'zz',  '郑州',     '河南省'),       (22, 'chs', '长沙',     '湖南省'),
             (23, 'nc',  '南昌',     '江西省'),       (24, 'fz',  '福州',     '福建省'),
             (25, 'xm',  '厦门',     '福建省'),       (26, 'hk',  '海口',     '海南省'),
             (27, 'kmq', '喀什',     '新疆维吾尔自治区'),(28, 'rkz', '日喀则',   '西藏自治区'),
             (29, 'gl',  '果洛',     '青海省'),       (30, 'ws',  '遵义',     '贵州省'))
     AS o(ord, code, city, province)
ORDER BY ord;

INSERT INTO intake_report (id, office_id, title, body, status, received_at, closed_at)
SELECT g, office_id, title, body, status, received_at,
       CASE WHEN status IN ('closed', 'rejected')
            THEN received_at + (1 + g % 30) * interval '1 day' END
FROM (
    SELECT g,
           1 + (g * 11) % 30 AS office_id,
           (SELECT city FROM intake_office WHERE id = 1 + (g * 11) % 30)
             || (ARRAY['办事处关于','办事处','联络处关于'])[1 + g % 3]
             || (ARRAY['对口支援项目进展','招商引资线索','沪企经营情况','人才交流','进博会 CIIE 组团',
                       '5G 合作意向','AI 产业对接','驻地经济形势','文旅推介活动','营商环境调研'])[1 + (g / 3) % 10]
             || (ARRAY['的报告','的情况汇报','的专报','的请示'])[1 + (g / 30) % 4]
             || '（' || g || '）' AS title,
           '报告正文：驻地工作情况及下一步打算。Report #' || g || '.' AS body,
           CASE WHEN g > sz.reports * 0.97 THEN 'received'
                WHEN g > sz.reports * 0.93 THEN 'processing'
                WHEN g % 40 = 0 THEN 'rejected'
                ELSE 'closed' END AS status,
           timestamptz '2014-01-01 08:00+08'
             + ((g - 1)::float8 / sz.reports) * interval '1825 days'
             + ((g * 104729) % 36000) * interval '1 second' AS received_at
    FROM seed_size sz, generate_series(1, sz.reports) AS g
) r
ORDER BY g;

-- ------------------------------------------------------------- investment --
INSERT INTO investment_project (id, title, district, industry, stage, amount, investor, signed_on, created_at)
SELECT g, title, district, industry, stage, amount, investor,
       CASE WHEN stage IN ('signed', 'construction', 'operating')
            THEN (created_at + (30 + g % 180) * interval '1 day')::date END,
       created_at
FROM (
    SELECT g, dd.code AS district,
           ind.code AS industry,
           dd.name || ' ' || ind.name || ' '
             || (ARRAY['产业园项目','研发中心项目','总部基地项目','Smart Factory 项目','合作示范区项目',
                       '5G 应用项目','AI 创新中心项目','物流枢纽项目'])[1 + (g / 7) % 8]
             || (ARRAY['','（一期）','（二期）','（三期）'])[1 + (g / 11) % 4] AS title,
           CASE WHEN g > sz.projects * 0.9 THEN 'intention'
                WHEN g > sz.projects * 0.8 THEN 'negotiation'
                WHEN g % 5 = 0 THEN 'signed'
                WHEN g % 5 = 1 THEN 'construction'
                ELSE 'operating' END AS stage,
           round((50 + power(pg_temp.u01(g, 1), 3) * 500000)::numeric, 2) AS amount,
           (ARRAY['上海','江苏','浙江','北京','深圳','香港','新加坡','德国','日本','美国'])[1 + g % 10]
             || (ARRAY['华信','远景','恒通','中科','智联','Tesla','Siemens','BASF','宝利','鼎盛','Microsoft','复星'])[1 + (g / 10) % 12]
             || (ARRAY['集团有限公司','科技股份有限公司','投资有限公司',' Co., Ltd.'])[1 + (g / 120) % 4] AS investor,
           timestamptz '2014-01-01 08:00+08'
             + ((g - 1)::float8 / sz.projects) * interval '1825 days'
             + ((g * 7919) % 36000) * interval '1 second' AS created_at
    FROM seed_size sz
    CROSS JOIN generate_series(1, sz.projects) AS g
    JOIN (SELECT code, name, row_number() OVER (ORDER BY code) - 1 AS i FROM district) dd
      ON dd.i = (CASE WHEN g % 5 = 0 THEN 10 ELSE (g * 3) % 16 END)   -- Pudong gets extra weight
    JOIN (VALUES (0, 'manufacturing', '先进制造'), (1, 'it', '信息技术 IT'), (2, 'finance', '金融服务'),
                 (3, 'biomedicine', '生物医药'), (4, 'logistics', '现代物流'), (5, 'tourism', '文化旅游'),
                 (6, 'agriculture', '现代农业'), (7, 'culture', '文化创意'), (8, 'energy', '新能源'),
                 (9, 'real_estate', '城市更新')) AS ind(i, code, name)
      ON ind.i = (g * 7 + g / 16) % 10
) p
ORDER BY g;

-- ------------------------------------------------------------- publishing --
INSERT INTO publishing_article (id, title, category, author, body, published_at, view_count)
SELECT g,
       (ARRAY['【工作动态】','【政策解读】','【区域合作】','【对口支援】','【招商引资】','【媒体聚焦】'])[1 + g % 6]
         || (ARRAY['长三角一体化','进博会 CIIE','5G 产业','AI 人工智能','东西部扶贫协作','一带一路',
                   '自贸区 FTZ','乡村振兴','数字经济','Smart City 智慧城市','园区共建','生物医药'])[1 + (g / 6) % 12]
         || (ARRAY['取得新进展','座谈会在沪召开','签约仪式举行','工作推进会召开','专题调研','经验交流'])[1 + (g / 72) % 6]
         || '（' || g || '）',
       (ARRAY['news','policy','cooperation','assistance','investment','media'])[1 + g % 6],
       (ARRAY['市合作交流办','新华社','解放日报','文汇报','Shanghai Daily','东方网'])[1 + (g / 6) % 6],
       '正文：' || repeat('围绕区域协调发展战略，深化合作交流。', 1 + g % 5) || ' Article #' || g || '.',
       timestamptz '2014-01-01 10:00+08'
         + ((g - 1)::float8 / sz.articles) * interval '1825 days'
         + ((g * 7919) % 36000) * interval '1 second',
       0
FROM seed_size sz, generate_series(1, sz.articles) AS g;

-- Reads are skewed towards recent articles (newest ids), and happen between
-- publication and 2019-06-30.
INSERT INTO publishing_access (id, article_id, accessed_at, client_addr, user_agent)
SELECT x.g, a.id,
       a.published_at + x.r2 * (timestamptz '2019-06-30 23:59+08' - a.published_at),
       '10.' || (x.g % 50) || '.' || ((x.g / 50) % 250) || '.' || (1 + (x.g / 12500) % 250),
       (ARRAY['Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/70.0',
              'Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko',
              'Mozilla/5.0 (iPhone; CPU iPhone OS 12_0) Mobile/15E148 MicroMessenger/7.0',
              'Mozilla/5.0 (Linux; Android 8.1) Mobile Safari/537.36'])[1 + x.g % 4]
FROM (
    SELECT g,
           sz.articles - floor(sz.articles * power(pg_temp.u01(g, 2), 2))::int AS article_id,
           pg_temp.u01(g, 3) AS r2
    FROM seed_size sz, generate_series(1, sz.accesses) AS g
) x
JOIN publishing_article a ON a.id = x.article_id;

UPDATE publishing_article a
SET view_count = c.n
FROM (SELECT article_id, count(*) AS n FROM publishing_access GROUP BY article_id) c
WHERE a.id = c.article_id;

-- -------------------------------------------------------------- reporting --
INSERT INTO reporting_indicator (code, name, unit)
SELECT b.code || s.suffix, b.name || s.label, b.unit
FROM (VALUES (1,  'GDP',            '地区生产总值 GDP',         '亿元'),
             (2,  'FAI',            '固定资产投资',             '亿元'),
             (3,  'FDI_ACTUAL',     '实际利用外资 FDI',         '万美元'),
             (4,  'FDI_CONTRACT',   '合同利用外资',             '万美元'),
             (5,  'DOMESTIC_INV',   '引进内资',                 '亿元'),
             (6,  'AID_FUNDS',      '对口支援资金',             '万元'),
             (7,  'AID_PROJECTS',   '援建项目数',               '个'),
             (8,  'SIGNED_PROJECTS','招商项目签约数',           '个'),
             (9,  'TRADE',          '进出口总额',               '亿元'),
             (10, 'RETAIL',         '社会消费品零售总额',       '亿元'),
             (11, 'TAX',            '税收收入',                 '亿元'),
             (12, 'NEW_FIRMS',      '新设企业数',               '户'),
             (13, 'HQ_FIRMS',       '跨国公司地区总部',         '家'),
             (14, 'RND',            '研发投入 R&D',             '亿元'),
             (15, 'PATENTS',        '专利授权量',               '件'),
             (16, 'JOBS',           '新增就业岗位',             '个'),
             (17, 'TRAINEES',       '干部人才培训',             '人次'),
             (18, 'EXCHANGES',      '交流挂职干部',             '人'),
             (19, 'POVERTY_OUT',    '脱贫人口',                 '人'),
             (20, 'PROCUREMENT',    '消费扶贫采购额',           '万元'),
             (21, 'TOURISTS',       '组织游客人次',             '人次'),
             (22, 'PARKS',          '共建园区数',               '个'),
             (23, 'PARK_OUTPUT',    '共建园区产值',             '亿元'),
             (24, 'EXPO_DEALS',     '进博会 CIIE 意向成交',     '万美元'),
             (25, 'DIGITAL',        '数字经济增加值',           '亿元'))
     AS b(ord, code, name, unit)
CROSS JOIN (VALUES (1, '_M', '（当月）'), (2, '_Y', '（累计）')) AS s(ord, suffix, label)
ORDER BY b.ord, s.ord;

INSERT INTO reporting_unit (id, code, name, district)
SELECT u,
       'RU' || lpad(u::text, 5, '0'),
       dd.name
         || (ARRAY['发展和改革委员会','商务委员会','合作交流办','统计局','经济委员会','投资促进中心',
                   '科学技术委员会','财政局','人力资源和社会保障局','农业农村委员会','文化和旅游局',
                   '国有资产监督管理委员会','规划和自然资源局','住房和城乡建设管理委员会','民政局',
                   '教育局','卫生健康委员会','市场监督管理局','生态环境局','交通委员会','税务局',
                   '工商业联合会','科技园区管委会','招商服务中心','对口支援办','人民政府办公室',
                   '机关事务管理局','数据中心'])[1 + ((u - 1) / 16) % 28]
         || CASE WHEN u > 448 THEN '（' || ((u - 1) / 448 + 1) || '）' ELSE '' END,
       dd.code
FROM seed_size sz
CROSS JOIN generate_series(1, sz.units) AS u
JOIN (SELECT code, name, row_number() OVER (ORDER BY code) - 1 AS i FROM district) dd
  ON dd.i = (u - 1) % 16
ORDER BY u;

-- One value per unit x month (2015-01 .. 2018-12) x indicator, chronological.
INSERT INTO reporting_submission (id, unit_id, period, indicator, value, status, remark, submitted_at)
SELECT p * sz.units * 50 + (u - 1) * 50 + i.ord,
       u,
       to_char(date '2015-01-01' + p * interval '1 month', 'YYYY-MM'),
       i.code,
       round((pg_temp.u01(p * sz.units * 50 + (u - 1) * 50 + i.ord, 4) * 10000)::numeric, 2),
       CASE WHEN p >= 46 THEN 'submitted'
            WHEN (u + p + i.ord) % 33 = 0 THEN 'returned'
            ELSE 'accepted' END,
       CASE WHEN (u + p + i.ord) % 33 = 0 THEN '数据口径需核实 please recheck' ELSE '' END,
       timestamptz '2015-02-01 09:00+08' + p * interval '1 month'
         + ((u * 13 + i.ord * 7) % 240) * interval '1 hour'
FROM seed_size sz
CROSS JOIN generate_series(0, 47) AS p
CROSS JOIN generate_series(1, sz.units) AS u
CROSS JOIN (SELECT code, row_number() OVER (ORDER BY code) AS ord FROM reporting_indicator) i;

-- --------------------------------------------------------------------- oa --
INSERT INTO oa_user (id, login, name, dept)
SELECT g,
       'u' || lpad(g::text, 4, '0'),
       (ARRAY['王','李','张','刘','陈','杨','黄','赵','周','吴','徐','孙','朱','马','胡','郭'])[1 + g % 16]
         || (ARRAY['建华','丽娟','志强','海燕','伟','敏','磊','静','晓东','文斌','芳','军','洁','勇','颖','涛','婷','超','霞'])[1 + (g / 16) % 19],
       (ARRAY['办公室','合作交流处','对口支援处','招商处','综合处','人事处','财务处','信息中心',
              '区域合作处','法规处'])[1 + g % 10]
FROM generate_series(1, 320) AS g;

-- Direction mix follows the 2018 figures (288 received : 38 sent), plus internal.
INSERT INTO oa_document (id, doc_no, title, direction, urgency, status, created_by, created_at, completed_at)
SELECT g, doc_no, title, direction, urgency, status, created_by, created_at,
       CASE WHEN status = 'completed' THEN created_at + (3 + g % 7) * interval '20 hours' END
FROM (
    SELECT g,
           CASE WHEN g % 100 < 78 THEN 'received' WHEN g % 100 < 88 THEN 'sent' ELSE 'internal' END AS direction,
           CASE WHEN g % 100 < 78 THEN '沪' || (ARRAY['府','发改','商务','财','府办','合'])[1 + g % 6]
                WHEN g % 100 < 88 THEN '沪合发'
                ELSE '沪合办' END
             || '〔' || (2014 + (g - 1) * 5 / sz.documents) || '〕' || (1 + g % 997) || '号' AS doc_no,
           (ARRAY['关于','关于印发','关于转发','关于报送','关于做好'])[1 + g % 5]
             || (ARRAY['长三角一体化','对口支援','进博会 CIIE','5G 产业合作','AI 人工智能','东西部扶贫协作',
                       '一带一路','自贸区 FTZ','乡村振兴','干部人才交流','营商环境','年度预算',
                       'OA 系统升级','数据共享'])[1 + (g / 5) % 14]
             || (ARRAY['工作方案的通知','实施意见的函','有关事项的请示','情况的报告','会议纪要'])[1 + (g / 70) % 5] AS title,
           CASE WHEN g % 9 = 0 THEN 'urgent' ELSE 'normal' END AS urgency,
           CASE WHEN g % 20 = 0 THEN 'in_progress' ELSE 'completed' END AS status,
           1 + (g * 13) % 320 AS created_by,
           timestamptz '2014-01-01 08:30+08'
             + ((g - 1)::float8 / sz.documents) * interval '1825 days'
             + ((g * 7919) % 36000) * interval '1 second' AS created_at
    FROM seed_size sz, generate_series(1, sz.documents) AS g
) d
ORDER BY g;

-- 3..9 steps per document (mean 6, cf. 1891 steps / 326 documents in 2018).
-- The last step of an in-progress document is the pending one. Document
-- attributes are recomputed from the same formulas as above (no table read);
-- the id is the running step count: documents 1..d-1 hold
-- 3(d-1) + 21*((d-1)/7) + r(r+1)/2 steps, r = (d-1) % 7.
INSERT INTO oa_flow_step (id, document_id, step_no, step_name, assignee_id, status, comment, created_at, acted_at)
SELECT 3 * (d - 1) + 21 * ((d - 1) / 7) + ((d - 1) % 7) * ((d - 1) % 7 + 1) / 2 + k,
       d, k,
       (ARRAY['登记','拟办','审核','批示','承办','复核','会签','签发','归档'])[k],
       1 + floor(320 * pg_temp.u01(d * 16 + k, 5))::int,
       s.status,
       CASE s.status WHEN 'approved' THEN '同意' WHEN 'forwarded' THEN '请阅处' ELSE '' END,
       t.created_at + (k - 1) * interval '20 hours',
       CASE WHEN s.status <> 'pending' THEN t.created_at + (k - 1) * interval '20 hours' + interval '18 hours' END
FROM seed_size sz
CROSS JOIN generate_series(1::bigint, sz.documents) AS d
CROSS JOIN LATERAL generate_series(1, 3 + (d % 7)::int) AS k
CROSS JOIN LATERAL (
    SELECT timestamptz '2014-01-01 08:30+08'
             + ((d - 1)::float8 / sz.documents) * interval '1825 days'
             + ((d * 7919) % 36000) * interval '1 second' AS created_at
) t
CROSS JOIN LATERAL (
    SELECT CASE WHEN d % 20 = 0 AND k = 3 + d % 7 THEN 'pending'
                WHEN (d + k) % 10 = 0 AND k < 3 + d % 7 THEN 'forwarded'
                ELSE 'approved' END AS status
) s;

-- Re-add the foreign keys dropped above; each is validated in one pass.
DO $addfk$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM seed_fk ORDER BY tbl, conname LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tbl, r.conname, r.def);
    END LOOP;
END
$addfk$;

-- Move every identity sequence past the explicit ids inserted above.
DO $seq$
DECLARE
    r record;
    m bigint;
BEGIN
    FOR r IN
        SELECT c.relname AS tbl, a.attname AS col
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND a.attidentity IN ('a', 'd') AND c.relkind = 'r'
    LOOP
        EXECUTE format('SELECT max(%I) FROM %I', r.col, r.tbl) INTO m;
        IF m IS NOT NULL THEN
            PERFORM setval(pg_get_serial_sequence(quote_ident(r.tbl), r.col), m, true);
        END IF;
    END LOOP;
END
$seq$;

COMMIT;

-- Only the tables this seed wrote (a bare VACUUM warns on catalogs that the
-- non-superuser owner may not vacuum). VACUUM as well as ANALYZE: the visibility map of
-- the freshly loaded pages is set, so an aggregate over an indexed column (GROUP BY
-- status) can be an index-only scan now, not only after autovacuum happens by (the role
-- resets the database's statistics after the seed, which autovacuum's insert counts are).
VACUUM (ANALYZE) district, sharing_office, sharing_notice, intake_office, intake_report,
        investment_project, publishing_article, publishing_access,
        reporting_indicator, reporting_unit, reporting_submission,
        oa_user, oa_document, oa_flow_step;
