PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer, -- null implies "false"
    sigs             text, -- space-separated
    ca               text -- if not null, an assertion that the path is content-addressed; see ValidPathInfo
);
INSERT INTO ValidPaths VALUES(1,'/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt','sha256:1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13',1795751105,NULL,120,NULL,NULL,'fixed:r:sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw');
INSERT INTO ValidPaths VALUES(2,'/nix/store/xwm3vgfcdmnkvkzw72ip9xc192nblm5y-dir','sha256:02deead8f9533ce0e3c76350e3aae7e653761facdc2fbd5ddf328a6f6f8b4cff',1795751105,NULL,888,NULL,NULL,'fixed:r:sha256:1zscidpnz2ijvxfvsbywmhgpclz6wymf6l33qziy0g2kz7cfmph2');
INSERT INTO ValidPaths VALUES(3,'/nix/store/j75xh205rjvwmp2h61zsnhmpds3ixp0y-leaf.txt','sha256:ea5ae6fe88ada6676107527b2680dc20437ee0ff5a7c276db270c7e465153b50',1795751105,NULL,120,NULL,NULL,'text:sha256:1qk8b06d7jxmgknv5x60n9b5y9hp8nnz98126cpmp8y7y34vml16');
INSERT INTO ValidPaths VALUES(4,'/nix/store/qg0xxvangykf96vzjv3d3lxyz0mfjpqr-mid.txt','sha256:d03ff394b931c33d1729662f4924a65a30a5f42f34541a234558ac7f3becbd09',1795751105,NULL,184,NULL,NULL,'text:sha256:01ii4vl2x3ic99lgyznr0jhpc69qrk52m8sfqmn26a42fgpd05x8');
INSERT INTO ValidPaths VALUES(5,'/nix/store/9z70qwv9dbp6dlxcmgydj5rnifsavqba-top.txt','sha256:5c574067b9eb49df961a12c105371836aad8dc5a228100498ac6f3be5f2c7a79',1795751105,NULL,240,NULL,NULL,'text:sha256:0nzcdm1axxz8xww6wvzqqyn3gym9dqvxcarzbym7j30bi14fnv6l');
INSERT INTO ValidPaths VALUES(6,'/nix/store/rs595c09iggkr1dmr9cmzk6725cp2mv4-demo.drv','sha256:b40a3b9f0fa2bf6fb9554077951c9472dfd3ab0bea5873134f3fbcc4ffc76b2d',1795751105,NULL,624,NULL,NULL,'text:sha256:0sdxwr9xclr2yb0ll3h5jwkq1dy14s0vm5291rz7h8xpyyf9sx11');
INSERT INTO ValidPaths VALUES(7,'/nix/store/00000000000000000000000000000001-reg-one','sha256:fe573d0124f05b0e3c77dd91c5f675df6b7aef85895ee09874d7ceba883aa0a0',1795751105,NULL,120,NULL,NULL,NULL);
INSERT INTO ValidPaths VALUES(8,'/nix/store/00000000000000000000000000000002-reg-two','sha256:a568d94ae6e9dc330a801e2fdb86b8b97dd6596bf08fb2279d5196cbedd72842',1795751105,'/nix/store/rs595c09iggkr1dmr9cmzk6725cp2mv4-demo.drv',248,NULL,NULL,NULL);
INSERT INTO ValidPaths VALUES(9,'/nix/store/00000000000000000000000000000003-reg-three','sha256:0b9714400043ddb70a229dfaf2738d07f292d612b031ad15418632c9e85ab17d',1795751105,NULL,120,NULL,NULL,NULL);
CREATE TABLE Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
);
INSERT INTO Refs VALUES(4,3);
INSERT INTO Refs VALUES(5,3);
INSERT INTO Refs VALUES(5,4);
INSERT INTO Refs VALUES(6,5);
INSERT INTO Refs VALUES(8,7);
INSERT INTO Refs VALUES(8,8);
INSERT INTO Refs VALUES(9,1);
CREATE TABLE DerivationOutputs (
    drv  integer not null,
    id   text not null, -- symbolic output id, usually "out"
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
);
INSERT INTO DerivationOutputs VALUES(6,'dev','/nix/store/3fip739qfc4xbhk8wi6633shaiydpvfm-demo-dev');
INSERT INTO DerivationOutputs VALUES(6,'out','/nix/store/5w9v4295k60jiincsnx2sj1j1sqq54pd-demo');
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('ValidPaths',9);
CREATE INDEX IndexReferrer on Refs(referrer);
CREATE INDEX IndexReference on Refs(reference);
CREATE TRIGGER DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end;
CREATE INDEX IndexDerivationOutputs on DerivationOutputs(path);
COMMIT;
