import { maskUserinfo } from './src/cli/options/broker-url';
for (const v of ['u:p:w@host','mqtt://u:p@ss@h','mqtt:/user:pw@host','//user:pw@host','SECRET@h','mqtt://SECRET@h','MQTTS://u:x/y@h','mqtt:u:pw@h']) console.log(v, '→', maskUserinfo(v));
