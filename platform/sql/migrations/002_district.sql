-- 002: the 16 districts of Shanghai. Static reference data shared by the
-- sharing, investment and reporting subsystems; part of the schema (not the
-- seed) because the application cannot create a project without them.
CREATE TABLE district (
    code    text PRIMARY KEY CHECK (code ~ '^[a-z]+$'),
    name    text NOT NULL,
    name_en text NOT NULL
);

INSERT INTO district (code, name, name_en) VALUES
    ('huangpu',   '黄浦区',   'Huangpu'),
    ('xuhui',     '徐汇区',   'Xuhui'),
    ('changning', '长宁区',   'Changning'),
    ('jingan',    '静安区',   'Jing''an'),
    ('putuo',     '普陀区',   'Putuo'),
    ('hongkou',   '虹口区',   'Hongkou'),
    ('yangpu',    '杨浦区',   'Yangpu'),
    ('minhang',   '闵行区',   'Minhang'),
    ('baoshan',   '宝山区',   'Baoshan'),
    ('jiading',   '嘉定区',   'Jiading'),
    ('pudong',    '浦东新区', 'Pudong New Area'),
    ('jinshan',   '金山区',   'Jinshan'),
    ('songjiang', '松江区',   'Songjiang'),
    ('qingpu',    '青浦区',   'Qingpu'),
    ('fengxian',  '奉贤区',   'Fengxian'),
    ('chongming', '崇明区',   'Chongming');
