// The HJ 212-2017 standard's own example frame (CRC 1C80).
export const EXAMPLE = {
  mn: '010000A8900016F000169DC0',
  pw: '100000',
  frame: '##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n',
};
