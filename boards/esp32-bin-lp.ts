// Build entry: the bin node on a low-power ESP32 board (battery nodes: ~13 uA asleep).
import { profile } from "./profiles/esp32-bin-lp.js";
import { startBinNode } from "./nodes/bin.js";

startBinNode(profile);
