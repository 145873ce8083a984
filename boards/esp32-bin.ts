// Build entry: ESP32 battery bin node (A02YYUW ultrasonic on a switched supply).
import { profile } from "./profiles/esp32-bin.js";
import { startBinNode } from "./nodes/bin.js";

startBinNode(profile);
