import { Module } from '@nestjs/common';
import { ConveyorModule, type ConveyorConnectionOptions } from '@conveyor/nestjs';
import { NotificationsController } from './notifications.controller.js';
import { OrdersController } from './orders.controller.js';
import { PaymentsController } from './payments.controller.js';

@Module({})
export class AppModule {
  static register(connection: ConveyorConnectionOptions) {
    return {
      module: AppModule,
      imports: [ConveyorModule.forRoot({ connection })],
      controllers: [OrdersController, PaymentsController, NotificationsController],
    };
  }
}
