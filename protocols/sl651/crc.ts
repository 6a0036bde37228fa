// SL 651-2014 check code: CRC-16/MODBUS arithmetic (init 0xFFFF, reflected polynomial 0xA001) over every
// byte from the frame start through the end character. Unlike Modbus RTU it is transmitted HIGH byte first.
export { crc16Modbus } from '../common/crc16.js';
