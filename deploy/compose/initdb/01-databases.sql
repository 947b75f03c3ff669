-- One database per service: each service owns its data (applied by the postgres image on first start).
CREATE DATABASE pingan_console;
CREATE DATABASE pingan_patrol;
CREATE DATABASE pingan_roster;
CREATE DATABASE pingan_inspection;
CREATE DATABASE pingan_alerts;
